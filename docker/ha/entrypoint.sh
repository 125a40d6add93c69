#!/bin/sh
# Entry point of the vns3-ha plugin image: the agent in the plugin's conventions. VNS3_HA_PLUGIN=1
# makes `vns3-ha` read $VNS3_HA_PLUGIN_ROOT/conf/vars.yml (default /opt/hacontainer) and keep its
# state in $VNS3_HA_PLUGIN_ROOT/state/; HAENV_* variables win over the file. Extra arguments
# (--once, --dry-run, --metrics-port N, --format text) go to vns3-ha.
set -eu
export VNS3_HA_PLUGIN="${VNS3_HA_PLUGIN:-1}"
export VNS3_HA_PLUGIN_ROOT="${VNS3_HA_PLUGIN_ROOT:-/opt/hacontainer}"
# exec: node replaces the shell (PID 1 in the container), so SIGTERM from `docker stop` reaches the agent.
exec node "${VNS3_HA_BIN:-/opt/vns3-ha/node_modules/vns3-sdk/bin/vns3-ha.js}" "$@"
