"""The server's default module lists (runner/default_modules.json) and the
runner's built-in DEFAULT_ALLOWED_MODULES must be the same list."""

import json
import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

import katalusis_runner  # noqa: E402


class DefaultModulesTest(unittest.TestCase):
    def test_the_json_file_matches_the_runner(self):
        with open(os.path.join(os.path.dirname(HERE), "default_modules.json")) as f:
            data = json.load(f)
        self.assertEqual(data["allow"], list(katalusis_runner.DEFAULT_ALLOWED_MODULES))
        self.assertEqual(data["block"], [])
        for dangerous in ("os", "subprocess", "socket", "ctypes", "importlib", "sys"):
            self.assertNotIn(dangerous, data["allow"])


if __name__ == "__main__":
    unittest.main()
