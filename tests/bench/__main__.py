"""`make bench`: every benchmark, each printing its figures and budget."""

from tests.bench import foundation

foundation.main()
