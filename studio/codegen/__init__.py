"""Code generation and import: model → Airflow ``.py`` (``generator``, ``export``) and back (``importer``).

``generator.generate_dag`` writes one DAG's file, ``export.export_project`` a whole project's;
``importer`` reads Airflow files with ``ast`` only; ``pysource`` holds the import-block and module-code
helpers both sides share; ``highlighting`` colors code for the GUI (the only Pygments import).
"""
