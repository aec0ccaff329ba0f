"""Writes the top-left WIDTHxHEIGHT corner of an image as a PNG, so a test's input needs the
padding to a size the network accepts (and the crop back)."""
import sys

from PIL import Image

source, width, height, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
Image.open(source).convert("RGB").crop((0, 0, width, height)).save(out)
