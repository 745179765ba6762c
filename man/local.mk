dist_man_MANS += man/dscfs.1
