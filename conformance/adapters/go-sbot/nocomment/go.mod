module go.cryptoscope.co/nocomment

go 1.17
