from mongoemu.cli import main

raise SystemExit(main())
