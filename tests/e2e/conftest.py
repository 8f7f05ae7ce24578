# conftest.py (e2e) — fixtures that run the real programs: `make_network` starts a whole
# network (four servers on a leased port offset, in a fresh temp dir) and always tears it
# down; `net` is one network on the sample blocks; `lease` is a free offset with no servers;
# `tapped_network` is a network whose UDP traffic goes through a UdpTap.
import pytest

from e2e_helpers import Network, PortLease, UdpTap


def end_all(items, end, what):
    """Calls end(item) on every item (each returns a list of problems, and all are ended
    whatever the others returned); fails the test with `what` and the problems, if any."""
    problems = []
    for item in items:
        problems += end(item)
    if problems:
        pytest.fail(f"{what}:\n" + "\n".join(problems))


@pytest.fixture
def make_network(bin_dir, tmp_path):
    """make_network(blocks=None, env=None, server_env=None, start=True, ready_timeout=...)
    -> Network. blocks: three file contents (str/bytes; None = no file), default the
    sample. env: ALICHAIN_* for every server; server_env: {'A': {...}, 'M': {...}}.
    At teardown every server is stopped (SIGTERM, then SIGKILL); a server that died
    unexpectedly or did not exit 0 on SIGTERM fails the test."""
    nets = []

    def make(blocks=None, env=None, server_env=None, start=True, **kw):
        root = tmp_path / f"net{len(nets)}"
        n = Network(bin_dir, root, blocks=blocks, env=env, server_env=server_env, **kw)
        nets.append(n)
        if start:
            n.start()
        return n

    yield make
    end_all(nets, Network.close, "server problems at teardown")


@pytest.fixture
def tapped_network(make_network):
    """tapped_network(blocks=None, env=None) -> (Network, UdpTap): a started network whose
    serverM <-> backend datagrams all pass through a started UdpTap. The tap is stopped
    before the servers; a problem in its thread fails the test."""
    taps = []

    def make(blocks=None, env=None):
        n = make_network(blocks=blocks, env=env, start=False)
        tap = UdpTap(n.offset)
        taps.append(tap)
        for name, extra in tap.server_env().items():
            n.server_env.setdefault(name, {}).update(extra)
        tap.start()
        n.start()
        return n, tap

    yield make
    end_all(taps, UdpTap.stop, "tap problems")


@pytest.fixture
def net(make_network):
    """The sample network of SPEC.md's worked example, started."""
    return make_network()


@pytest.fixture
def lease():
    """A port offset whose six ports are free and stay reserved for this test."""
    l = PortLease()
    yield l
    l.release()
