"""`python -m localcloud`: run the local cloud in the foreground (what `o2v cloud start` spawns)."""

from localcloud.server import main

raise SystemExit(main())
