"""Async fixtures of the pytest plugin (`scarletio.testing.fixtures`), through `pytester` runs."""

from __future__ import annotations

import pytest

from scarletio.backends import available_backends
from test_testing_plugin import item_lines, run_pytest

pytest_plugins = ["pytester"]


def test_an_async_fixture_runs_on_the_tests_loop_and_its_time_counts(pytester: pytest.Pytester) -> None:
    source = """
        import threading
        import pytest
        from scarletio import get_event_loop, sleep

        @pytest.fixture
        async def warmed_up(scarletio_loop):
            await sleep(5)
            return threading.current_thread()

        async def test_uses_it(warmed_up, scarletio_loop, scarletio_clock):
            assert warmed_up is scarletio_loop is threading.current_thread()
            assert scarletio_clock.now() == 5.0
    """
    run_pytest(pytester, source).assert_outcomes(passed=1)


def test_an_async_generator_fixture_tears_down_on_the_loop_before_it_stops(pytester: pytest.Pytester) -> None:
    source = """
        import pytest
        from scarletio import sleep

        log = []

        @pytest.fixture
        async def resource(scarletio_loop):
            log.append(("up", scarletio_loop.time()))
            yield "resource"
            await sleep(2)  # the teardown needs the loop, which still runs
            log.append(("down", scarletio_loop.time(), scarletio_loop.is_running()))

        async def test_uses_it(resource):
            assert resource == "resource"
            await sleep(3)

        def test_teardown_ran():
            assert log == [("up", 0.0), ("down", 5.0, True)]
    """
    run_pytest(pytester, source).assert_outcomes(passed=2)


def test_async_fixtures_compose_with_sync_ones_and_live_in_classes(pytester: pytest.Pytester) -> None:
    source = """
        import pytest
        from scarletio import sleep

        @pytest.fixture
        def base():
            return 1

        @pytest.fixture
        async def doubled(base):
            await sleep(1)
            return base * 2

        @pytest.fixture
        async def tripled(doubled):
            await sleep(1)
            return doubled * 3

        class TestInAClass:
            factor = 10

            @pytest.fixture
            async def scaled(self, tripled):
                return tripled * self.factor

            async def test_method(self, scaled, scarletio_clock):
                assert scaled == 60
                assert scarletio_clock.now() == 2.0
    """
    run_pytest(pytester, source).assert_outcomes(passed=1)


def test_async_fixtures_work_on_every_backend(pytester: pytest.Pytester) -> None:
    source = """
        import pytest
        from scarletio import sleep

        @pytest.fixture
        async def napped(scarletio_loop):
            await sleep(0.01)
            yield scarletio_loop.backend.name
            await sleep(0.01)

        async def test_on_each(napped, scarletio_loop):
            assert napped == scarletio_loop.backend.name
    """
    result = run_pytest(pytester, source, "--scarletio-backend", "all")
    result.assert_outcomes(passed=len(available_backends()))


def test_a_sync_test_using_an_async_fixture_gets_a_virtual_loop(pytester: pytest.Pytester) -> None:
    source = """
        import pytest
        from scarletio import sleep

        @pytest.fixture
        async def slept(scarletio_loop):
            await sleep(3600)
            return scarletio_loop.time()

        def test_sync(slept, scarletio_loop):
            assert slept == 3600.0
            assert scarletio_loop.backend.name == "virtual"
    """
    run_pytest(pytester, source).assert_outcomes(passed=1)


def test_a_wider_scope_is_refused_with_the_way_out(pytester: pytest.Pytester) -> None:
    source = """
        import pytest

        @pytest.fixture(scope="module")
        async def shared():
            return 1

        async def test_uses_it(shared):
            pass
    """
    result = run_pytest(pytester, source)
    result.assert_outcomes(errors=1)
    assert (
        "async fixture 'shared' has scope 'module'; scarletio runs each test on a fresh loop, so async fixtures "
        "are function-scoped: drop scope=, or make it a sync fixture that starts what it needs on a loop of its own"
    ) in result.stdout.str()


def test_an_async_generator_fixture_that_yields_twice_fails(pytester: pytest.Pytester) -> None:
    source = """
        import pytest

        @pytest.fixture
        async def greedy():
            yield 1
            yield 2

        async def test_uses_it(greedy):
            pass
    """
    result = run_pytest(pytester, source)
    result.assert_outcomes(passed=1, errors=1)
    assert "async fixture 'greedy' yielded more than once; an async fixture yields its value once" in result.stdout.str()


def test_a_deadlocked_fixture_is_reported_naming_the_fixture(pytester: pytest.Pytester) -> None:
    source = """
        import pytest
        from scarletio import Event

        @pytest.fixture
        async def never_ready(scarletio_loop):
            ready = Event(scarletio_loop)
            await ready.wait()

        async def test_uses_it(never_ready):
            pass
    """
    result = run_pytest(pytester, source)
    result.assert_outcomes(errors=1)
    output = result.stdout.str()
    assert "DeadlockError: deadlock: nothing can ever wake the loop at virtual time 0.000000000" in output
    assert "task #1 never_ready (created at test_subject.py:" in output
    assert "waits for Event 'ready', which is not set" in output


def test_tests_of_another_async_plugin_keep_their_async_fixtures(pytester: pytest.Pytester) -> None:
    source = """
        import pytest

        @pytest.fixture
        async def theirs():
            return 1

        @pytest.mark.asyncio
        async def test_for_asyncio(theirs):
            pass
    """
    pytester.makeini("[pytest]\nmarkers = asyncio: for pytest-asyncio\n")
    result = run_pytest(pytester, source)
    result.assert_outcomes(errors=1)
    assert item_lines(result) == ["test_subject.py::test_for_asyncio ERROR"]
    assert "requested an async fixture 'theirs', with no plugin or hook that handled it" in result.stdout.str()
