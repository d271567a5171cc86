"""The live console: a browser view of the running mind, served by the runtime itself.

``emily serve`` shows it at ``/``; ``start_console`` serves it beside a loop that has no API
(``emily run --console``). The page is static and bundled (no request leaves the machine); its
data comes from ``/console/stream`` (server-sent events, bearer token) at a bounded rate.
"""

from emily.runtime.console.frame import ConsoleFrame, FrameBuilder
from emily.runtime.console.hub import ConsoleHub
from emily.runtime.console.options import ConsoleOptions
from emily.runtime.console.server import ConsoleServer, create_console_app, start_console
from emily.runtime.console.stream import console_router

__all__ = [
    "ConsoleFrame",
    "ConsoleHub",
    "ConsoleOptions",
    "ConsoleServer",
    "FrameBuilder",
    "console_router",
    "create_console_app",
    "start_console",
]
