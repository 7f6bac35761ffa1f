from sealbox.cli import main

raise SystemExit(main())
