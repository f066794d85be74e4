"""Writes public/labels/imagenet-1k.txt: the 1000 ImageNet-1k class names, one per line, in class
order, from torchvision's model metadata (`_IMAGENET_CATEGORIES`, BSD-3-Clause). Needs only the
torchvision wheel, not an import of it: `pip download --no-deps torchvision -d /tmp/tv`, then
`python3 tools/imagenet_labels.py /tmp/tv/torchvision-*.whl`.
"""

import ast
import sys
import zipfile
from pathlib import Path


def main(wheel):
    with zipfile.ZipFile(wheel) as archive:
        source = archive.read("torchvision/models/_meta.py").decode()
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "_IMAGENET_CATEGORIES":
            names = ast.literal_eval(node.value)
            break
    else:
        sys.exit("no _IMAGENET_CATEGORIES in the wheel")
    assert len(names) == 1000
    target = Path(__file__).resolve().parent.parent / "public" / "labels" / "imagenet-1k.txt"
    target.write_text("\n".join(names) + "\n")
    print(f"wrote {target}: {len(names)} names")


if __name__ == "__main__":
    main(sys.argv[1])
