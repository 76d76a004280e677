"""A small Python function: starts a program and writes two files.

Under conf/examples/function/hardened.json (blockAllBinaries; /etc/shadow,
/etc/fnguard-* and /root/.ssh/* denied) the program is refused and so is
the write to /etc/fnguard-example.conf; the write under /tmp goes through.
"""
import os
import subprocess
import sys


def handler():
    try:
        out = subprocess.run(["/usr/bin/id"], capture_output=True, text=True)
        print("function: id ran:", out.stdout.strip())
    except PermissionError as e:
        print("function: subprocess refused:", e)
    for path in ("/etc/fnguard-example.conf",
                 os.path.join(sys.argv[1] if len(sys.argv) > 1 else "/tmp",
                              "fnguard-example.out")):
        try:
            with open(path, "w") as f:
                f.write("written by the example function\n")
            print("function: wrote", path)
            os.unlink(path)
        except PermissionError as e:
            print("function: write refused:", e)


handler()
