from isaacctl.cli import main

raise SystemExit(main())
