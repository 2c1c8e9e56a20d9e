SELECT * FROM t WHERE day = '{{ ds }}' AND n = {{ params.n }} -- {{ macros.ds_add(ds, -1) }}
