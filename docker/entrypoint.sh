#!/bin/sh
# The entrypoint of every process the image runs (web, worker, beat, migrate, one-off manage.py commands).
#
# prometheus_client's multiprocess mode writes each process's samples into PROMETHEUS_MULTIPROC_DIR: the
# folder must exist before the first metric is touched (the first database connection counts one), in
# every process, not only under gunicorn. Samples of an earlier run of this container would be summed
# with this one's, so it starts empty.
set -eu

: "${PROMETHEUS_MULTIPROC_DIR:=/tmp/prometheus}"
export PROMETHEUS_MULTIPROC_DIR
rm -rf "$PROMETHEUS_MULTIPROC_DIR"
mkdir -p "$PROMETHEUS_MULTIPROC_DIR"

exec "$@"
