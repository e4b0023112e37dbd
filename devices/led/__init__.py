"""LED signs: window strips and hall boards over RS-232/RS-485 or a network converter.

Byte protocols are pure (``generic``, ``onbon``); ``transport`` moves bytes over a port
opened by pyserial URL; ``sign`` puts them together behind the ``LedSign`` Protocol.
"""

from devices.led.frame import Color, Effect, FrameError
from devices.led.sign import FakeLedSign, LedSign, SerialLedSign, build_led_sign

__all__ = [
    "Color",
    "Effect",
    "FakeLedSign",
    "FrameError",
    "LedSign",
    "SerialLedSign",
    "build_led_sign",
]
