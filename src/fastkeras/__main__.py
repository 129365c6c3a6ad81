"""``python -m fastkeras`` prints the build information."""
from fastkeras import build_info

print(build_info())
