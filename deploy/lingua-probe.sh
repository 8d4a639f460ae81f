#!/bin/bash
# lingua-probe PORT PATH: exits 0 when GET http://127.0.0.1:PORT/PATH answers 200. The image's
# health checks (gateway /ready or /health, simulated node /health): bash's /dev/tcp, so no
# curl in the image and no Node process started per check.
exec 3<>"/dev/tcp/127.0.0.1/${1:?usage: lingua-probe PORT PATH}" || exit 1
printf 'GET %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n' "${2:?usage: lingua-probe PORT PATH}" >&3
read -r -t 5 _ status _ <&3 && [ "$status" = 200 ]
