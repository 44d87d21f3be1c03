import trellis as dg

warehouse = {
    "orders": [
        {"region": "north", "amount": 3.5},
        {"region": "south", "amount": 2.0},
        {"region": "north", "amount": 1.5},
    ]
}


@dg.definitions
def resources():
    return dg.Definitions(resources={"warehouse": warehouse})
