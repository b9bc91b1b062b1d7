-- clients
name:find("Vina") ~= nil and db.staff:get(owner).name == "Lê Thị Hoa"