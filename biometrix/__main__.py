from biometrix.cli import main

raise SystemExit(main())
