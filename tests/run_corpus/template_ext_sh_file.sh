#!/usr/bin/env bash
# Rendered by Jinja before it runs (template_ext .sh): used by template_ext_sh_file.py
touch "$RUN_CORPUS_TMP/sh_{{ ds_nodash }}_{{ params.suffix }}"
