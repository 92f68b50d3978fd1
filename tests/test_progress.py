import io

from carecheck.cli.progress import Progress


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_shows_on_a_terminal_after_the_delay():
    stream = Terminal()
    progress = Progress("importing notes.csv", stream=stream, delay=0)
    progress.update(5000)
    progress.update(10000, 20000)
    progress.done()
    assert "\rimporting notes.csv: 5,000 rows" in stream.getvalue()
    assert "10,000 of 20,000 rows" in stream.getvalue()
    assert stream.getvalue().endswith("\r")


def test_progress_is_silent_off_a_terminal_or_before_a_second():
    pipe = io.StringIO()
    Progress("importing", stream=pipe, delay=0).update(5000)
    assert pipe.getvalue() == ""
    terminal = Terminal()
    Progress("importing", stream=terminal).update(5000)  # within the first second
    assert terminal.getvalue() == ""
