SELECT '{{ ds }}' AS day, '{{ params.table }}' AS source
