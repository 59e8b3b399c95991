"""Output shared by the peer scripts: their JSON result, written where the benchmark asked."""
import json
import os


def write_result(result, path):
    """Writes `result` as indented JSON to `path` (atomically, through path.tmp), or prints it when
    path is empty or None."""
    text = json.dumps(result, indent=2)
    if path:
        with open(path + ".tmp", "w") as f:
            f.write(text + "\n")
        os.replace(path + ".tmp", path)
    else:
        print(text)
