-- A plain GET of the URL on the command line (the count endpoint, the bare JSON view).
local dir = debug.getinfo(1, "S").source:sub(2):match("(.*/)")
dofile(dir .. "report.lua")
