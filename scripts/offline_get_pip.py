"""Stand-in for the pip bootstrap script that ansible-test downloads.

ansible-test runs this file inside each fresh sanity virtualenv with the arguments it
would pass to get-pip. Without a network path to that download, pip comes from the
interpreter's own ensurepip and is then upgraded from the package index with the same
arguments (get-pip's own options are dropped).
"""

import subprocess
import sys

GET_PIP_ONLY = ("--no-setuptools", "--no-wheel")

args = [arg for arg in sys.argv[1:] if arg not in GET_PIP_ONLY]
subprocess.check_call([sys.executable, "-m", "ensurepip", "--upgrade", "--default-pip"])
subprocess.check_call([sys.executable, "-m", "pip", "install", "--upgrade"] + args)
