; Value pragmas in comments: file-wide, or class-wide on the class line.

; # sepconv: features=64, input=1x3x224x224
((comment) @pragma
  (#match? @pragma "^#\\s*sepconv:"))
