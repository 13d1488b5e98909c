print("outrider")
