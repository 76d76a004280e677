#!/bin/sh
# A small function: fetches two pages. Under the seed policy (DNS allow
# list "*amazon.com") the first name is refused, the second resolves.
# $1: the port the example's web server listens on.
port=${1:-8080}
echo "function: wget http://yahoo.com/"
if wget -q -T 3 -t 1 -O - "http://yahoo.com:$port/"; then
	echo "function: yahoo.com answered"
else
	echo "function: yahoo.com failed (wget exit $?)"
fi
echo "function: wget http://s3.amazon.com/"
if wget -q -T 3 -t 1 -O - "http://s3.amazon.com:$port/"; then
	echo "function: s3.amazon.com answered"
else
	echo "function: s3.amazon.com failed (wget exit $?)"
fi
