from rhetoric.cli import main

raise SystemExit(main())
