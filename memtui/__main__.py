import sys

from memtui.cli import main

sys.exit(main())
