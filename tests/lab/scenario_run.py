"""One lab scenario run for a module's tests: the lab up, the product deployed, the scenario run
through lab/experiment.py (as `vantage lab run` does), the lab down after the module's tests.

Shared by the lab tests that query the product after a whole scenario
(tests/lab/test_traceroute_cuts.py, tests/lab/test_bgp_mechanisms.py). The run's log and
report are printed (pytest shows them for a failing test), and the lab's files are kept, its
collector database among them, so a failing run can be read afterwards.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from vantage.lab.experiment import Experiment, Outcome
from vantage.lab.product import Product
from vantage.lab.report import format_report
from vantage.lab.scenario import Scenario, check_against
from vantage.lab.session import Lab
from vantage.lab.topology import Topology


@contextmanager
def scenario_run(
    scenario: Scenario, topology: Topology, state_root: Path
) -> Iterator[tuple[Outcome, Product]]:
    """(the run's outcome, the deployed product, still up for queries) for the with-block."""
    check_against(scenario, topology)
    lab = Lab.create(topology, state_root=state_root)
    log = io.StringIO()
    try:
        try:
            lab.network_up()
            product = Product(lab)
            product.deploy()
            outcome = Experiment(lab, product, scenario, stream=log, interactive=False, chart_path=None).run()
        finally:
            print(log.getvalue())
            print(f"lab files kept in {lab.state.work_dir}")
        print(format_report(outcome.report))
        yield outcome, product
    finally:
        assert lab.down(keep_files=True) == []
