"""CLI: ``python -m graph_simulator --port 8443 --seed 1 --state-dir DIR [--users N ...]``.

Prints one JSON line (base_url, ca_path, ca_bundle_path, ...) then serves until SIGINT/SIGTERM
(or, with --until-stdin-closes, until its standard input closes).
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading

from graph_simulator.demo import seed_demo
from graph_simulator.simulator import GraphSimulator


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m graph_simulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 = ephemeral (default)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--time-scale", type=float, default=1.0)
    parser.add_argument("--state-dir", default=None, help="where the CA files are written")
    parser.add_argument("--users", type=int, default=0, help="create N users")
    parser.add_argument("--contacts-per-user", type=int, default=0)
    parser.add_argument("--demo", action="store_true", help="users + contacts + groups + an app")
    parser.add_argument("--client-id", default=None, help="register an app (else any client)")
    parser.add_argument("--client-secret", default=None)
    parser.add_argument(
        "--until-stdin-closes",
        action="store_true",
        help="also stop when standard input closes: a parent that holds a pipe to it takes "
        "the simulator along when it ends, however it ends (kill -9 included)",
    )
    args = parser.parse_args(argv)

    sim = GraphSimulator(seed=args.seed, time_scale=args.time_scale, state_dir=args.state_dir)
    sim.start(host=args.host, port=args.port)
    users = args.users or (3 if args.demo else 0)
    per_user = args.contacts_per_user or (25 if args.demo and not args.contacts_per_user else 0)
    info = seed_demo(sim, users, per_user, groups=args.demo)
    if args.client_id:
        sim.register_app(args.client_id, args.client_secret)
    line = {
        "base_url": sim.base_url,
        "login_endpoint": sim.login_endpoint,
        "graph_endpoint": sim.graph_endpoint,
        "ca_path": sim.ca_path,
        "ca_bundle_path": sim.ca_bundle_path,
        "tenant_id": sim.tenant_id,
        **info,
    }
    print(json.dumps(line), flush=True)

    stop = threading.Event()

    def _stop(signum, frame):
        stop.set()

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    if args.until_stdin_closes:
        threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
    while not stop.wait(0.5):
        pass
    sim.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
