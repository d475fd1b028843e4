; Value pragmas in comments: file-wide, or on a class or def line that definition's (src/analysis/kernel/pragmas.ts).

; # sepconv: features=64, input=1x3x224x224
((comment) @pragma
  (#match? @pragma "^#\\s*sepconv:"))
