import socket

import pytest
from django.core.management import CommandError, call_command


def test_a_busy_port_is_refused_with_a_clear_message():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(CommandError, match=f"Cannot listen on 127.0.0.1:{port} for the web"):
            call_command("serve", "--port", str(port))
