#!/bin/bash
# usage: peak.sh CMD... : runs CMD, prints peak RssAnon (heap, not the map)
"$@" > /tmp/peak.out 2>&1 &
pid=$!; max=0
while kill -0 $pid 2>/dev/null; do a=$(awk '/RssAnon/ {print $2}' /proc/$pid/status 2>/dev/null); [ -n "$a" ] && [ "$a" -gt "$max" ] && max=$a; sleep 0.05; done
echo "peak RssAnon ${max} kB: $(head -c 200 /tmp/peak.out)"
