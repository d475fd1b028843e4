; Value pragmas in comments, file-wide.

; // sepconv: width=64, numClasses=10
((comment) @pragma
  (#match? @pragma "^(//|/\\*)\\s*sepconv:"))
