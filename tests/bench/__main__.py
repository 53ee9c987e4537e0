"""`make bench`: every benchmark, each printing its figures and budget."""

from tests.bench import engines, evaluate, foundation, scan, storage, sync

foundation.main()
engines.main()
scan.main()
storage.main()
evaluate.main()
sync.main()
