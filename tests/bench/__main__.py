"""`make bench`: every benchmark, each printing its figures and budget."""

from tests.bench import (
    cli,
    engines,
    evaluate,
    foundation,
    legacy,
    scan,
    storage,
    sync,
    ten_years,
)

cli.main()
foundation.main()
engines.main()
scan.main()
legacy.main()
storage.main()
ten_years.main()
evaluate.main()
sync.main()
