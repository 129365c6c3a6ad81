from fastkeras.bench.runner import main

raise SystemExit(main())
