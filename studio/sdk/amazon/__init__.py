"""The amazon provider's S3 part, served at Airflow's paths (``airflow.providers.amazon.aws.hooks.s3``,
``...operators.s3``, ``...sensors.s3``): ``S3Hook`` for users' own Python, the S3 operators and
``S3KeySensor``. The connection is read the way the provider's ``AwsConnectionWrapper`` reads it
(``connection.py``); boto3 is imported only when an S3 task talks to S3."""
