from collections import Counter


# A tiny, fixed data set so the DAG runs anywhere without credentials.
ORDERS = [
    {"order_id": 1, "customer": "ada", "amount": 120.0},
    {"order_id": 2, "customer": "bob", "amount": 35.5},
    {"order_id": 3, "customer": "ada", "amount": -10.0},
    {"order_id": 4, "customer": "cyd", "amount": 80.25},
    {"order_id": 5, "customer": "dee", "amount": 15.0},
    {"order_id": 6, "customer": "bob", "amount": 240.0},
]


CUSTOMERS = {"ada": "NL", "bob": "DE", "cyd": "NL", "dee": "FR"}


def notify_failure(context: dict) -> None:
    """on_failure_callback (set in default_args, so every task has it): say what failed and where."""
    ti = context["ti"]
    print(f"ALERT: task {ti.task_id} of {ti.dag_id} failed in run {context['run_id']} (try {ti.try_number})")


def record_success(context: dict) -> None:
    """DAG-level on_success_callback: called once when a whole run succeeds."""
    print(f"run {context['run_id']} of {context['dag'].dag_id} succeeded")


def extract() -> dict:
    """multiple_outputs=True: each key of the returned dict becomes its own XCom (extract["orders"])."""
    return {"orders": ORDERS, "customers": CUSTOMERS}


def clean_orders(orders: list) -> list:
    """Drop refunds and other non-positive amounts."""
    return [o for o in orders if o["amount"] > 0]


def join_customers(orders: list, customers: dict) -> list:
    return [{**o, "country": customers.get(o["customer"], "unknown")} for o in orders]


def score_orders(orders: list) -> list:
    """A made-up loyalty score: bigger orders score higher, capped at 10."""
    return [{**o, "score": min(10, round(o["amount"] / 25))} for o in orders]


def summarize(orders: list) -> dict:
    by_country = Counter(o["country"] for o in orders)
    return {
        "count": len(orders),
        "revenue": round(sum(o["amount"] for o in orders), 2),
        "top_country": by_country.most_common(1)[0][0] if orders else None,
        "by_country": dict(sorted(by_country.items())),
    }


def choose_report(summary: dict, min_orders: str) -> str:
    """@task.branch: return the task id (or ids) to run next; the other direct downstream tasks are skipped."""
    return "full_report" if summary["count"] >= int(min_orders) else "short_report"


def full_report(summary: dict, currency: str) -> str:
    lines = [f"{country}: {n} orders" for country, n in summary["by_country"].items()]
    return f"{summary['count']} orders, revenue {summary['revenue']} {currency}\n" + "\n".join(lines)


def short_report(summary: dict) -> str:
    return f"only {summary['count']} orders today"


def publish() -> None:
    """Runs after whichever report ran (trigger rule none_failed_min_one_success)."""
    print("report published")
