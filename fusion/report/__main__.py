import sys

from fusion.report.build import main

sys.exit(main())
