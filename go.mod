module github.com/thecal/thecal

go 1.26.8
