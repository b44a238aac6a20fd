"""Random keys on the 320-VM profile, with the clock running: no key, in any order, in any
dialog, raises."""

from __future__ import annotations

import random
import time

from .conftest import big_profile, make_app

# Every key memtui binds and the keys dialogs use, except those that leave the app or write
# files (tested on their own): q, ctrl+q, ctrl+s, W, ctrl+o, and the command palette, whose
# commands reach all of those.
KEYS = (
    "space full_stop plus minus s slash f less_than_sign greater_than_sign I M B N e w p a c d "
    "delete 1 2 3 4 5 6 7 h ctrl+r escape escape enter enter tab shift+tab up down down left right pageup "
    "pagedown home end j k g G question_mark f1 x 0 9 backspace"
).split()


async def test_random_keys_on_the_320_vm_profile():
    rng = random.Random(20240601)
    app = make_app(big_profile(), paused=False, speed_x=600)
    pressed = []
    start = time.monotonic()
    async with app.run_test(size=(120, 40)) as pilot:
        assert app.main.table.row_count == 320
        while len(pressed) < 300 and time.monotonic() - start < 40:
            key = rng.choice(KEYS)
            pressed.append(key)
            await pilot.press(key)
        await pilot.pause(0.2)
        assert app.is_running, pressed[-20:]
        assert app.session.host.t > 0
    assert app.return_code in (None, 0)
