print("script", arg[0], #arg, ...)
for i = -3, #arg do io.write(tostring(arg[i]), ";") end
print()
