"""`make bench`: every benchmark, each printing its figures and budget."""

from tests.bench import engines, evaluate, foundation, scan, sync

foundation.main()
engines.main()
scan.main()
evaluate.main()
sync.main()
