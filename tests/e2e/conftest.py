# conftest.py (e2e) — fixtures that run the real programs: `make_network` starts a whole
# network (four servers on a leased port offset, in a fresh temp dir) and always tears it
# down; `net` is one network on the sample blocks; `lease` is a free offset with no servers.
import pytest

from e2e_helpers import Network, PortLease


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
    problems = []
    for n in nets:
        problems += n.close()
    if problems:
        pytest.fail("server problems at teardown:\n" + "\n".join(problems))


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
