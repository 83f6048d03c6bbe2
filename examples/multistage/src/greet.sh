#!/bin/sh
# The example program: prints its greeting and the configured name.
. /etc/greet/greet.conf
echo "@GREETING@, ${NAME:-world}"
