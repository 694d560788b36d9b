"""Two web nodes, each a separate host in a Linux network namespace, sharing one PostgreSQL and one Redis, under load
and under faults (README "Several nodes: the cluster test"). `python -m tests.cluster` (`make cluster-test`) runs the
full scenario and prints its table; tests/cluster/test_cluster.py runs a reduced one in `make test`.

- harness.py: the namespaces and veth pairs, PostgreSQL and Redis, the nodes' web servers, the seeded data;
- load.py: the load generator, what it sent and how each answer is judged;
- scenario.py: the phases (revocations, Redis stopped, PostgreSQL restarted, workers killed), the
  throughput measured with wrk, the database checks, and the report with its rules.
"""
